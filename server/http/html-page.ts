import type { FastifyReply } from 'fastify'

// The few pages the server renders itself, for links opened from a mail (an
// alert's acknowledge link, an invitation): plain HTML with a form, no script.

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}' +
  'label{display:block;margin:.75rem 0}input{display:block;font:inherit;padding:.4rem;width:100%;max-width:20rem}' +
  '.hint{color:#555;font-size:.9em}.error{color:#b00020;font-weight:600}' +
  'button{font:inherit;padding:.5rem 1.25rem;border-radius:6px;border:1px solid #124a86;background:#1565c0;color:#fff;cursor:pointer}'

/** `title` is escaped here; `body` is HTML the caller built (and escaped). */
export function sendHtmlPage(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    // a key in the URL: keep it out of the Referer sent to other sites, and out of caches. Not no-referrer: a form
    // posted from a no-referrer page carries `Origin: null`, and the server refuses a write from an unknown page
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`)
}
