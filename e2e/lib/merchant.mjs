// "The merchant site": a tiny HTTP server on a free loopback port that answers every GET with
// a small HTML page and remembers what it was asked for (success and cancel URLs land here).

import http from 'node:http';

export async function startMerchantSite() {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method, url: req.url });
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
    });
    res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Merchant</title></head>` +
        `<body><h1 id="merchant-page">Merchant ${pathname.slice(1) || 'home'}</h1></body></html>`,
    );
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    successUrl: `${base}/success`,
    cancelUrl: `${base}/cancel`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
