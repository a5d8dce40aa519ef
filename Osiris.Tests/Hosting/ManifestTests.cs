using System.Diagnostics;
using System.Text.Json;

namespace Osiris.Tests.Hosting;

/// <summary>The deployment path: README's manifest command, run as a user would, and what the manifest must hold.</summary>
public sealed class ManifestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Services = ["api", "agent", "mcpserver", "web"];

    /// <summary>Parameters whose values are secrets: the manifest must mark them so, and never carry a value.</summary>
    private static readonly string[] Secrets =
    [
        "api-key", "mcp-token", "admin-password", "web-service-key", "redis-password", "postgres-password",
        "openai-api-key", "gemini-api-key", "compatible-api-key", "embeddings-api-key", "oidc-client-secret",
        "whatsapp-app-secret", "whatsapp-verify-token", "whatsapp-access-token", "email-signing-key", "email-ingest-token", "smtp-password",
    ];

    [Fact]
    public async Task TheManifestPublisherDeclaresEveryServiceParameterAndContainerWithSecretsAsSecrets()
    {
        var output = Directory.CreateTempSubdirectory("osiris-manifest-").FullName;
        var apiKey = "manifest-" + Guid.NewGuid().ToString("N");
        try
        {
            // README's command, with a secret given on the command line: it must not be written into the manifest.
            var (exit, log) = await RunAsync(Path.Combine(Fixtures.Repository.Root, "Osiris.AppHost"),
                ["run", "--no-build", "-c", Fixtures.Repository.Configuration, "--", "--publisher", "manifest", "--output-path", Path.Combine(output, "manifest.json"),
                 $"--Parameters:api-key={apiKey}", "--Osiris:Infrastructure=local"]);
            Assert.True(exit == 0, log);
            var text = await File.ReadAllTextAsync(Path.Combine(output, "manifest.json"), Ct);
            Assert.DoesNotContain(apiKey, text);
            using var manifest = JsonDocument.Parse(text);
            var resources = manifest.RootElement.GetProperty("resources");
            string Type(string name) => resources.GetProperty(name).GetProperty("type").GetString()!;

            foreach (var service in Services)
            {
                Assert.Equal("project.v0", Type(service));
            }
            // Published, Redis and PostgreSQL are containers with volumes, whatever this machine's mode (local here).
            foreach (var server in new[] { "redis", "postgres" })
            {
                Assert.StartsWith("container.", Type(server));
                Assert.NotEmpty(resources.GetProperty(server).GetProperty("volumes").EnumerateArray());
            }
            Assert.Contains("{postgres.connectionString}", resources.GetProperty("osiris").GetProperty("connectionString").GetString());
            Assert.DoesNotContain(resources.EnumerateObject(), r => r.Value.GetProperty("type").GetString()!.StartsWith("executable.", StringComparison.Ordinal));

            foreach (var secret in Secrets)
            {
                var input = resources.GetProperty(secret).GetProperty("inputs").GetProperty("value");
                Assert.True(input.GetProperty("secret").GetBoolean(), $"{secret} is not marked secret");
                Assert.False(input.TryGetProperty("value", out _), $"{secret} carries a value");
            }

            var env = Services.ToDictionary(s => s, s => resources.GetProperty(s).GetProperty("env"));
            foreach (var service in new[] { "api", "agent", "mcpserver" })
            {
                Assert.Equal("{osiris.connectionString}", env[service].GetProperty("ConnectionStrings__osiris").GetString());
                Assert.Equal("{redis.connectionString}", env[service].GetProperty("ConnectionStrings__redis").GetString());
            }
            Assert.Equal("{api-key.value}", env["api"].GetProperty("Osiris__ApiKey").GetString());
            Assert.Equal("{mcp-token.value}", env["agent"].GetProperty("Agent__Mcp__Token").GetString());
            Assert.Equal("{mcp-token.value}", env["mcpserver"].GetProperty("Osiris__McpToken").GetString());
            // Every MCP server replica mounts the one workspace volume there.
            Assert.Equal("/var/lib/osiris/workspaces", env["mcpserver"].GetProperty("Workspaces__Root").GetString());
            Assert.Equal("{mcpserver.bindings.http.url}", env["agent"].GetProperty("services__mcpserver__http__0").GetString());
            Assert.Equal("{api.bindings.http.url}", env["web"].GetProperty("services__api__http__0").GetString());
            // Only the web is reachable from outside; webhooks reach the API through the deployment's ingress.
            Assert.True(resources.GetProperty("web").GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());
            Assert.False(resources.GetProperty("mcpserver").GetProperty("bindings").GetProperty("http").TryGetProperty("external", out _));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static async Task<(int Exit, string Log)> RunAsync(string project, string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = project, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
