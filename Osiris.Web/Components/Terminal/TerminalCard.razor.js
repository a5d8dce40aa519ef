// One xterm.js screen per command: ANSI colours render as a terminal shows them; the fit addon sizes it to its card.
import { Terminal } from "/lib/xterm/xterm.mjs";
import { FitAddon } from "/lib/xterm/addon-fit.mjs";

export function open(host) {
    const terminal = new Terminal({
        convertEol: true,
        disableStdin: true,
        cursorBlink: false,
        scrollback: 5000,
        fontSize: 12.5,
        fontFamily: "ui-monospace, 'JetBrains Mono', 'Cascadia Mono', Menlo, Consolas, monospace",
        theme: { background: "#0d1117", foreground: "#e6edf3", cursor: "#0d1117" },
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(host);
    // Output only: the screen is never a tab stop, and Tab, Shift+Tab and Esc are left to the browser, so keyboard
    // users pass the card instead of being trapped in xterm's hidden input.
    if (terminal.textarea) {
        terminal.textarea.tabIndex = -1;
        terminal.textarea.setAttribute("aria-hidden", "true");
    }
    terminal.attachCustomKeyEventHandler(event => !(event.key === "Tab" || event.key === "Escape"));
    const refit = () => {
        if (host.offsetWidth > 0) {
            try { fit.fit(); } catch { /* not laid out yet */ }
        }
    };
    const observer = new ResizeObserver(refit);
    observer.observe(host);
    refit();
    return {
        write: text => terminal.write(text),
        dispose: () => { observer.disconnect(); terminal.dispose(); },
    };
}
