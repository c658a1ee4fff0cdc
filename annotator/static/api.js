// The JSON API as the pages call it: the session cookie plus the CSRF token from the page's
// meta tag. Resolves to {ok, status, data}; data is the JSON body (or {error} if none).

const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

export async function api(method, url, body) {
  const headers = { "Accept": "application/json", "X-CSRFToken": csrfToken };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch { data = { error: `HTTP ${response.status}` }; }
  }
  return { ok: response.ok, status: response.status, data };
}
