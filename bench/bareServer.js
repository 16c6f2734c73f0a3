/** The HTTP ceiling: a bare node:http server answering a fixed JSON entity. */
'use strict';
const { createServer } = require('node:http');

const body = JSON.stringify({ id: 'urn:ngsi-ld:Bench:1', type: 'ParkingSpot', status: { type: 'Property', value: 'free' } });
const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(`listening on ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
