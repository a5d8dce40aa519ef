using System.Net.Http.Json;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;
using Osiris.Tests.McpServer;

namespace Osiris.Tests.Security;

/// <summary>The sandbox's state as people see it through the API: whole in the app, "unavailable" with the fix when bubblewrap is missing.</summary>
[Collection(LocalBackbone.Name)]
public sealed class SandboxStatusTests(LocalBackboneFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheAppsSandboxIsReportedWhole()
    {
        fixture.RequireAvailable();
        OptionalSoftware.Require(OptionalSoftware.OnPath("bwrap") is not null, "bubblewrap", "apt-get install -y bubblewrap");
        var status = await fixture.Api.GetFromJsonAsync<SystemStatus>("/api/v1/status", OsirisJson.Options, Ct);
        Assert.Equal("Healthy", status!.Sandbox.Status);
    }

    [Fact]
    public async Task AnMcpServerWithoutBubblewrapIsReportedDegradedWithTheInstallCommand()
    {
        fixture.RequireAvailable();
        using var mcp = new McpServerHost(("Sandbox:BwrapPath", "/nonexistent/bwrap"));
        await using var replica = fixture.StartReplica(("services:mcpserver:http:0", mcp.BaseUrl));
        using var api = replica.CreateApiClient();
        var status = await api.GetFromJsonAsync<SystemStatus>("/api/v1/status", OsirisJson.Options, Ct);
        Assert.Equal("Degraded", status!.Sandbox.Status);
        Assert.Contains("sandbox unavailable (apt-get install -y bubblewrap)", status.Sandbox.Description);
    }
}
