// The console's JSON requests to its server, failing with the server's error code and field.

export async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { "X-Tamas-Request": "1" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (_) { /* empty body */ }
  if (!r.ok) {
    const e = new Error((data && data.error && data.error.message) || String(r.status));
    e.status = r.status;
    e.code = data && data.error && data.error.code;
    e.field = data && data.error && data.error.field;
    throw e;
  }
  return data;
}
