// Keeps the conversation scrolled to its end while new text streams in, unless the reader scrolled up.
export function follow(element) {
    let pinned = true;
    element.addEventListener("scroll", () => {
        pinned = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
    });
    new MutationObserver(() => {
        if (pinned) {
            element.scrollTop = element.scrollHeight;
        }
    }).observe(element, { childList: true, subtree: true, characterData: true });
    element.scrollTop = element.scrollHeight;
}
