using Microsoft.Extensions.Options;
using Osiris.McpServer.Workspaces;

namespace Osiris.Tests.McpServer;

/// <summary>
/// A symbolic link swapped in between the check and the open (the race of issue 5, point 4), made deterministic
/// with the hook that runs at exactly that moment, and then raced for real through many concurrent attempts.
/// </summary>
public sealed class SymlinkSwapTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "osiris-swap-" + Guid.NewGuid().ToString("N"));
    private readonly string _root;
    private readonly string _outside;
    private readonly WorkspaceFiles _files = new(Options.Create(new WorkspaceOptions()));

    public SymlinkSwapTests()
    {
        Directory.CreateDirectory(Path.Combine(_temp, "ws"));
        _root = Native.Canonical(Path.Combine(_temp, "ws"))!;
        _outside = Path.Combine(_temp, "outside");
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), "TOP SECRET");
        File.WriteAllText(Path.Combine(_root, "note.txt"), "harmless");
        Directory.CreateDirectory(Path.Combine(_root, "sub"));
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private void SwapFileForLink(string canonical)
    {
        File.Delete(canonical);
        File.CreateSymbolicLink(canonical, Path.Combine(_outside, "secret.txt"));
    }

    [Fact]
    public void AFileSwappedForAnOutwardLinkAfterTheCheckIsNotRead()
    {
        _files.BetweenCheckAndOpen = SwapFileForLink;
        var refusal = Assert.Throws<PathRefusedException>(() => _files.Read(_root, "note.txt"));
        Assert.Contains("changed while being opened", refusal.Message);
    }

    [Fact]
    public void AFileSwappedForAnOutwardLinkAfterTheCheckIsNotWrittenThrough()
    {
        _files.BetweenCheckAndOpen = path =>
        {
            if (path.EndsWith("note.txt", StringComparison.Ordinal) && File.Exists(path) && new FileInfo(path).LinkTarget is null)
            {
                SwapFileForLink(path);
            }
        };
        Assert.Throws<PathRefusedException>(() => _files.Write(_root, "note.txt", "owned"));
        Assert.Equal("TOP SECRET", File.ReadAllText(Path.Combine(_outside, "secret.txt")));
    }

    [Fact]
    public void AParentFolderSwappedForAnOutwardLinkAfterTheCheckGetsNothingCreatedOutside()
    {
        _files.BetweenCheckAndOpen = _ =>
        {
            var sub = Path.Combine(_root, "sub");
            if (new DirectoryInfo(sub).LinkTarget is null)
            {
                Directory.Delete(sub);
                Directory.CreateSymbolicLink(sub, _outside);
            }
        };
        var refusal = Assert.Throws<PathRefusedException>(() => _files.Write(_root, "sub/planted.txt", "owned"));
        Assert.Contains("changed while being opened", refusal.Message);
        Assert.False(File.Exists(Path.Combine(_outside, "planted.txt")));
    }

    [Fact]
    public async Task ALinkFlippingUnderConcurrentReadsNeverLeaksTheSecret()
    {
        var path = Path.Combine(_root, "flip.txt");
        File.WriteAllText(path, "harmless");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var flipper = Task.Run(() =>
        {
            var flips = 0;
            while (!stop.IsCancellationRequested)
            {
                var temp = path + ".tmp";
                if (flips++ % 2 == 0)
                {
                    File.CreateSymbolicLink(temp, Path.Combine(_outside, "secret.txt"));
                }
                else
                {
                    File.WriteAllText(temp, "harmless");
                }
                File.Move(temp, path, overwrite: true); // rename(2): atomic swap
            }
            return flips;
        }, TestContext.Current.CancellationToken);

        var (reads, refusals) = (0, 0);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                Assert.DoesNotContain("SECRET", _files.Read(_root, "flip.txt").Text);
                reads++;
            }
            catch (PathRefusedException)
            {
                refusals++;
            }
        }
        Assert.True(await flipper > 100, "the link should have flipped many times");
        Assert.True(reads + refusals > 100, $"reads {reads}, refusals {refusals}");
    }
}
