using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Hosting;

public sealed class AppStartupTests
{
    [Fact]
    public async Task EmbeddedModeBringsEveryServiceToHealthyWithNothingInstalled()
    {
        await using var osiris = await OsirisApp.StartAsync("embedded");

        await AssertEveryServiceAnswersHealthy(osiris);
        Assert.True(File.Exists(Path.Combine(osiris.DataDir, "osiris.db")), "the SQLite database lives in Osiris:DataDir");
        TestContext.Current.TestOutputHelper?.WriteLine($"embedded: all healthy after {osiris.Startup.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task LocalModeRunsInstalledRedisAndPostgresAndInitialisesTheCluster()
    {
        OptionalSoftware.RequireRedisAndPostgres();

        await using var osiris = await OsirisApp.StartAsync("local");

        await AssertEveryServiceAnswersHealthy(osiris);
        var init = await osiris.App.ResourceNotifications.WaitForResourceAsync(
            "postgres-init", e => e.Snapshot.State?.Text == KnownResourceStates.Finished, TestContext.Current.CancellationToken);
        Assert.Equal(0, init.Snapshot.ExitCode);
        Assert.True(File.Exists(Path.Combine(osiris.DataDir, "postgres", "PG_VERSION")), "the cluster lives in Osiris:DataDir");
        TestContext.Current.TestOutputHelper?.WriteLine($"local: all healthy after {osiris.Startup.TotalSeconds:F1} s");
    }

    private static async Task AssertEveryServiceAnswersHealthy(OsirisApp osiris)
    {
        foreach (var service in OsirisApp.Services)
        {
            using var http = osiris.App.CreateHttpClient(service);
            using var health = await http.GetAsync("/health", TestContext.Current.CancellationToken);
            Assert.True(health.IsSuccessStatusCode, $"{service} /health answered {(int)health.StatusCode}");
            Assert.Equal("Healthy", await health.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

            using var alive = await http.GetAsync("/alive", TestContext.Current.CancellationToken);
            Assert.True(alive.IsSuccessStatusCode, $"{service} /alive answered {(int)alive.StatusCode}");
        }
    }
}
