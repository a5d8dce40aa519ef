using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Osiris.Tests.McpServer;

/// <summary>Token, Origin, Host and task-header checks at the /mcp door, and the wall between two tasks' sessions.</summary>
public sealed class EndpointSecurityTests(EndpointSecurityTests.Server server) : IClassFixture<EndpointSecurityTests.Server>
{
    public sealed class Server() : McpServerHost;

    private const string Initialize = """
        {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}
        """;

    private async Task<HttpResponseMessage> PostInitialize(string? token, Action<HttpRequestMessage>? tweak = null, bool withTask = true)
    {
        using var http = server.RawClient(token);
        var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(Initialize, Encoding.UTF8, "application/json") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (withTask)
        {
            request.Headers.Add("X-Osiris-Task", Guid.NewGuid().ToString());
        }
        tweak?.Invoke(request);
        return await http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task AnInitializeWithTheTokenAndATaskIsAccepted()
    {
        using var response = await PostInitialize(server.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains("Mcp-Session-Id"));
    }

    [Fact]
    public async Task ARequestWithoutATokenGets401()
    {
        using var response = await PostInitialize(token: null);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task ARequestWithAWrongTokenGets401()
    {
        using var response = await PostInitialize("not-" + server.Token);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AForeignOriginGets403()
    {
        using var response = await PostInitialize(server.Token, r => r.Headers.Add("Origin", "https://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task ALoopbackOriginIsAccepted()
    {
        using var response = await PostInitialize(server.Token, r => r.Headers.Add("Origin", "http://localhost:6274"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AForeignHostHeaderGets403AsADnsRebindingGuard()
    {
        using var response = await PostInitialize(server.Token, r => r.Headers.Host = "rebound.evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task ANewSessionWithoutTheTaskHeaderGets400()
    {
        using var response = await PostInitialize(server.Token, withTask: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("X-Osiris-Task", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ANewSessionWithAMalformedTaskHeaderGets400()
    {
        using var response = await PostInitialize(server.Token, r => r.Headers.Add("X-Osiris-Task", "../../etc"), withTask: false);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task HealthEndpointsAnswerWithoutAToken()
    {
        using var http = server.RawClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health", TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/alive", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task TwoTasksCannotSeeEachOthersFiles()
    {
        var (taskA, taskB) = (Guid.NewGuid(), Guid.NewGuid());
        await using var a = await server.ConnectAsync(taskA, TestContext.Current.CancellationToken);
        await using var b = await server.ConnectAsync(taskB, TestContext.Current.CancellationToken);

        (await a.CallAsync("write_file", new { path = "secret-of-a.txt", content = "only for A" })).AssertSucceeded();

        var listing = await b.CallAsync("list_dir", new { path = "." });
        Assert.DoesNotContain("secret-of-a", listing.Text());
        (await b.CallAsync("read_file", new { path = "secret-of-a.txt" })).AssertRefused("does not exist");
        (await b.CallAsync("read_file", new { path = $"../{taskA}/secret-of-a.txt" })).AssertRefused("outside the workspace");
        (await b.CallAsync("read_file", new { path = Path.Combine(server.WorkspaceOf(taskA), "secret-of-a.txt") })).AssertRefused("outside the workspace");
        var command = await b.CallAsync("run_command", new { command = $"cat ../{taskA}/secret-of-a.txt /workspace/../{taskA}/secret-of-a.txt 2>&1; ls / " });
        Assert.DoesNotContain("only for A", command.Text());

        Assert.Equal("only for A", File.ReadAllText(Path.Combine(server.WorkspaceOf(taskA), "secret-of-a.txt")));
    }

    [Fact]
    public async Task TheSessionKeepsItsWorkspaceWhateverLaterHeadersSay()
    {
        var (first, other) = (Guid.NewGuid(), Guid.NewGuid());
        await using var client = await server.ConnectAsync(first, TestContext.Current.CancellationToken);
        (await client.CallAsync("write_file", new { path = "mine.txt", content = "first task" })).AssertSucceeded();
        Assert.True(File.Exists(Path.Combine(server.WorkspaceOf(first), "mine.txt")));
        Assert.False(Directory.Exists(server.WorkspaceOf(other)));
    }
}
