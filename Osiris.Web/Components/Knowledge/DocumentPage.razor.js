// Scrolls to the passage a link pointed at (#c-N). Blazor's own scroll to a fragment comes before the passages have
// loaded, so the page calls this once they are rendered.
export function reveal(id) {
    document.getElementById(id)?.scrollIntoView({ block: "start" });
}
