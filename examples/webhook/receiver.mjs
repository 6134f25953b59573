// A webhook receiver for trying the example: prints each POST, answers 200.
// node examples/webhook/receiver.mjs [port]
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 8080);
createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const records = JSON.parse(body);
    for (const r of Array.isArray(records) ? records : [records]) {
      console.log(
        `${r.type.padEnd(16)} ${r.id} ${r.recipient} ${r.response.code} ${r.response.content}`,
      );
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
  });
}).listen(port, '127.0.0.1', () => console.log(`webhook receiver on http://127.0.0.1:${port}/log`));
