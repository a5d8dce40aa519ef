using Microsoft.Playwright;

namespace Osiris.Tests.Web;

/// <summary>Screenshots go with the test output (TestResults/screenshots and a test attachment) and, for README, to docs/screenshots.</summary>
public static class Screenshots
{
    public static async Task SaveAsync(IPage page, string name, bool forReadme)
    {
        var bytes = await page.ScreenshotAsync(new PageScreenshotOptions { Type = ScreenshotType.Png });
        var output = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");
        Directory.CreateDirectory(output);
        await File.WriteAllBytesAsync(Path.Combine(output, name), bytes);
        TestContext.Current.AddAttachment(name, bytes, "image/png");
        TestContext.Current.TestOutputHelper?.WriteLine($"screenshot {name} saved to {output}");

        if (forReadme && RepositoryRoot() is { } root)
        {
            var docs = Path.Combine(root, "docs", "screenshots");
            Directory.CreateDirectory(docs);
            await File.WriteAllBytesAsync(Path.Combine(docs, name), bytes);
        }
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Osiris.sln")))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}
