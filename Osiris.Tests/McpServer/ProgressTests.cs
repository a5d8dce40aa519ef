using Osiris.McpServer.Sandbox;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.McpServer;

public sealed class ProgressTests(ProgressTests.Server server) : IClassFixture<ProgressTests.Server>
{
    public sealed class Server() : McpServerHost;

    [Fact]
    public async Task OutputLinesArriveAsProgressWhileTheCommandStillRuns()
    {
        OptionalSoftware.Require(OptionalSoftware.OnPath("bwrap") is not null, "bubblewrap", CommandRunner.InstallHint);
        await using var client = await server.ConnectAsync(Guid.NewGuid(), TestContext.Current.CancellationToken);
        var progress = new ProgressLog();

        var result = await client.CallAsync("run_command",
            new { command = "for i in 1 2 3; do echo line$i; sleep 1; done; echo oops >&2" }, progress);
        var finished = DateTimeOffset.UtcNow;

        result.AssertSucceeded();
        var items = progress.Items;
        Assert.Equal(["line1", "line2", "line3", "[stderr] oops"], items.Select(i => i.Value.Message));
        Assert.Equal([1f, 2f, 3f, 4f], items.Select(i => i.Value.Progress));
        // line1 is printed two seconds before the command ends; it must have arrived long before the result did.
        Assert.True(finished - items[0].At > TimeSpan.FromSeconds(1.5), $"line1 arrived only {finished - items[0].At} before the end");
        Assert.True(items[1].At - items[0].At > TimeSpan.FromSeconds(0.5), "line2 arrived together with line1");
    }
}
