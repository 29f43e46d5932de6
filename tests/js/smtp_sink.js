// A tiny SMTP server on 127.0.0.1 for the browser suites: it accepts every message (no TLS, no
// auth) and keeps it, so a test can read the links lumod emails. Bounded waits only.

import { createServer } from 'node:net';

import { delay } from './lumod.js';

/** Decodes a quoted-printable body (soft line breaks and =XX escapes). */
function decodeQuotedPrintable(text) {
  const bytes = [];
  const joined = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < joined.length; i += 1) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The decoded text/plain part of a raw message. */
export function plainText(data) {
  for (const part of data.split('\r\n--')) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split).toLowerCase();
    if (!head.includes('content-type: text/plain')) continue;
    const body = part.slice(split + 4);
    if (head.includes('quoted-printable')) return decodeQuotedPrintable(body);
    if (head.includes('content-transfer-encoding: base64')) {
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    }
    return body;
  }
  return '';
}

/** Starts the sink; `messages` holds {to: [..], data} in arrival order. */
export async function startSmtpSink() {
  const messages = [];
  const server = createServer((socket) => {
    let buffer = '';
    let inData = false;
    let current = { to: [], data: '' };
    socket.write('220 lumo-js-sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          current.data = buffer.slice(0, end + 2).replace(/^\.\./gm, '.');
          buffer = buffer.slice(end + 5);
          inData = false;
          messages.push(current);
          current = { to: [], data: '' };
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const upper = line.toUpperCase();
        if (upper.startsWith('EHLO')) socket.write('250-lumo-js-sink\r\n250 8BITMIME\r\n');
        else if (upper.startsWith('HELO')) socket.write('250 lumo-js-sink\r\n');
        else if (upper.startsWith('RCPT TO:')) {
          current.to.push(line.slice(8).trim().replace(/^<|>$/g, '').toLowerCase());
          socket.write('250 2.1.5 ok\r\n');
        } else if (upper === 'DATA') {
          inData = true;
          socket.write('354 end with .\r\n');
        } else if (upper === 'QUIT') {
          socket.end('221 bye\r\n');
          return;
        } else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    messages,
    /** The first link containing `needle` in the `nth` message to `to`, waiting up to 20 s. */
    async link(to, needle, nth = 0) {
      for (let i = 0; i < 200; i += 1) {
        const mine = messages.filter((m) => m.to.includes(to.toLowerCase()));
        if (mine.length > nth) {
          const found = plainText(mine[nth].data).split(/[\s()]+/)
            .find((word) => word.startsWith('http') && word.includes(needle));
          if (!found) throw new Error(`no ${needle} link in: ${plainText(mine[nth].data)}`);
          return found;
        }
        await delay(100);
      }
      throw new Error(`no email ${nth} to ${to} within 20 s`);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
