// The chosen theme (light or dark) lives in localStorage; without a choice the system's preference applies.
(function () {
    const stored = localStorage.getItem("osiris-theme");
    const theme = stored || (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark");
    document.documentElement.dataset.theme = theme;
    window.osirisTheme = {
        toggle() {
            const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
            document.documentElement.dataset.theme = next;
            localStorage.setItem("osiris-theme", next);
            return next;
        },
        current: () => document.documentElement.dataset.theme,
    };
})();
