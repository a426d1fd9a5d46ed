// Preloaded into the suite's origin server, which listens on every interface: a port alone is bound to
// loopback instead, so a conformance run never exposes a test server to the network.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || typeof args[0] === 'string') {
    const [port, ...rest] = args;
    const callback = rest.find((arg) => typeof arg === 'function');
    return listen.call(this, { port: Number(port), host: '127.0.0.1' }, callback);
  }
  return listen.apply(this, args);
};
