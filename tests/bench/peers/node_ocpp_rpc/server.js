'use strict';
/*
 * Reference OCPP 1.6J CSMS for the benchmarks on the npm `ocpp-rpc` package.
 *
 * A benchmark peer, never part of the product: it answers the charger CALLs the
 * load generator sends with fixed replies, so that the runner can compare
 * throughput and CPU per message against Switchyard. strictMode is on, so the
 * library validates every CALL and CALLRESULT against the OCPP 1.6 schemas, as
 * the Python and Go peers do.
 *
 * Its node_modules live outside the source tree (tests/bench/peers/setup):
 *   NODE_PATH=build/bench/peers/node_ocpp_rpc/node_modules \
 *     node tests/bench/peers/node_ocpp_rpc/server.js --port 0
 * Prints `listening on HOST:PORT` once ready; exits on SIGTERM or SIGINT.
 */

const { parseArgs } = require('node:util');
const { RPCServer } = require('ocpp-rpc');

const SUBPROTOCOL = 'ocpp1.6';
const ENDPOINT = '/ocpp';
const HEARTBEAT_INTERVAL = 300;

function main() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },  // 0: a free port
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`server.js: bad --port ${values.port}`);
    process.exit(2);
  }

  const server = new RPCServer({
    protocols: [SUBPROTOCOL],
    strictMode: true,
  });

  // No auth: any charger id under /ocpp/ that offers ocpp1.6.
  server.auth((accept, reject, handshake) => {
    if (handshake.endpoint !== ENDPOINT || !handshake.identity) {
      reject(404, 'Not found');
    } else if (!handshake.protocols.has(SUBPROTOCOL)) {
      reject(400, 'Subprotocol ocpp1.6 required');
    } else {
      accept();
    }
  });

  let nextTransactionId = 1;
  const now = () => new Date().toISOString();
  const accepted = { status: 'Accepted' };

  server.on('client', (client) => {
    client.handle('BootNotification', () => ({
      status: 'Accepted',
      interval: HEARTBEAT_INTERVAL,
      currentTime: now(),
    }));
    client.handle('Heartbeat', () => ({ currentTime: now() }));
    client.handle('MeterValues', () => ({}));
    client.handle('StatusNotification', () => ({}));
    client.handle('Authorize', () => ({ idTagInfo: accepted }));
    client.handle('StartTransaction', () => ({
      transactionId: nextTransactionId++,
      idTagInfo: accepted,
    }));
    client.handle('StopTransaction', () => ({}));
  });

  server.listen(port, values.host).then((httpServer) => {
    console.log(`listening on ${values.host}:${httpServer.address().port}`);
  }, (err) => {
    console.error(`server.js: ${err.message}`);
    process.exit(1);
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Give the close handshakes a moment, then go regardless.
    setTimeout(() => process.exit(0), 2000).unref();
    server.close({ code: 1001, force: true }).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
