using Microsoft.Playwright;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

/// <summary>Debian's headless Chromium driven by Playwright; no browser download (no <c>playwright install</c>).</summary>
public sealed class Chromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/lib/chromium/chromium";

    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<Chromium> LaunchAsync()
    {
        OptionalSoftware.Require(File.Exists(ExecutablePath), "Chromium", "apt-get install -y chromium");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        return new Chromium(playwright, browser);
    }

    /// <summary>A page on the web app at a laptop's size (or another), with its theme fixed for stable screenshots.</summary>
    public async Task<IPage> OpenAsync(Uri baseUrl, string path, int width = 1440, int height = 900, string theme = "dark")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = theme == "dark" ? ColorScheme.Dark : ColorScheme.Light,
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        await page.GotoAsync(path);
        return page;
    }

    /// <summary>
    /// Waits until the page's circuit is attached (prerendered HTML already says "live": the store is shared) and the
    /// web app's stream is live.
    /// </summary>
    public static async Task WaitLiveAsync(IPage page, int timeoutMs = 30_000) =>
        await page.Locator(".shell[data-interactive] [data-connection=live]").WaitForAsync(new LocatorWaitForOptions { Timeout = timeoutMs });

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
