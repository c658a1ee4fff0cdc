// The project page while a suggestion training job is live: ask the API for the job every
// two seconds, and reload the page (its versions table and status line) once it has ended.

const status = document.getElementById("training-status");

async function follow() {
  try {
    const response = await fetch(status.dataset.url, {
      headers: { "Accept": "application/json" }, credentials: "same-origin",
    });
    if (response.ok) {
      const job = await response.json();
      if (job.status === "done" || job.status === "failed") {
        window.location.reload();
        return;
      }
    }
  } catch {
    // The server is unreachable for a moment: ask again later.
  }
  setTimeout(follow, 2000);
}

if (status && (status.dataset.status === "queued" || status.dataset.status === "running")) {
  setTimeout(follow, 1000);
}
