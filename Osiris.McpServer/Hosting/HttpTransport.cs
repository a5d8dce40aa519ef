using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using ModelContextProtocol.AspNetCore;
using Osiris.McpServer.Checkpoints;
using Osiris.McpServer.Sandbox;
using Osiris.McpServer.Security;
using Osiris.McpServer.Workspaces;

namespace Osiris.McpServer.Hosting;

/// <summary>
/// Streamable HTTP at /mcp. Clients of the <c>2026-07-28</c> revision (the agent) are served per request, with no
/// session, so that any replica behind one endpoint can take any call: each request names its task in the
/// <c>X-Osiris-Task</c> header. Older clients that use the <c>initialize</c> handshake get a session, fixed to one
/// workspace at <c>initialize</c>; such a session lives in one server's memory (a client that lands on another
/// replica gets 404 and initialises again).
/// </summary>
public static class HttpTransport
{
    public const string DefaultUrl = "http://127.0.0.1:5172";

    public static WebApplicationBuilder AddOsirisMcpHttp(this WebApplicationBuilder builder)
    {
        // Loopback unless told otherwise (the launch profile and the AppHost set their own loopback URL).
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"])
            && string.IsNullOrEmpty(builder.Configuration["https_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.AddOsirisMcpServer().WithHttpTransport(http =>
        {
            http.SessionMode = HttpServerSessionMode.StatefulForInitializeClients;
            http.ConfigureSessionOptions = (context, options, _) =>
            {
                var provisioner = context.RequestServices.GetRequiredService<WorkspaceProvisioner>();
                if (provisioner.FixedRoot is null)
                {
                    // The gatekeeper has checked the header; the root is fixed here, for the whole session (or request).
                    var taskId = Guid.Parse(context.Request.Headers[McpGatekeeper.TaskHeader].ToString());
                    var root = provisioner.ForTask(taskId);
                    options.Filters.Request.CallToolFilters.Add(next => async (request, cancellationToken) =>
                    {
                        var workspace = request.Services!.GetRequiredService<Workspace>();
                        workspace.Root = root;
                        workspace.TaskId = taskId;
                        return await request.Services!.GetRequiredService<CheckpointingFilter>().CallAsync(taskId, request, next, cancellationToken);
                    });
                }
                return Task.CompletedTask;
            };
        });
        return builder;
    }

    public static WebApplication MapOsirisMcp(this WebApplication app)
    {
        var security = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<McpSecurityOptions>>().Value;
        var urls = app.Configuration["urls"] ?? DefaultUrl;
        if (security.NoAuth && urls.Split(';').Any(u => !IsLoopbackUrl(u)))
        {
            throw new InvalidOperationException($"--no-auth is allowed only on loopback addresses, not on '{urls}'.");
        }
        if (!security.NoAuth && string.IsNullOrEmpty(security.Token))
        {
            app.Logger.LogWarning("Osiris:McpToken is not set: every /mcp request will be refused with 401.");
        }
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/mcp") || context.Request.Path.StartsWithSegments("/checkpoints"),
            branch => branch.UseMiddleware<McpGatekeeper>());
        app.MapMcp("/mcp");
        app.MapCheckpoints();

        // The sandbox is probed at start, so a missing piece is a warning in the log (and the dashboard) at once.
        _ = app.Services.GetRequiredService<SandboxEnvironment>().Problems;
        // The sandbox's state with its reasons, for the API's status (and so the web's banner). Not a secret: it says
        // which isolation is missing, never a path or a setting.
        app.MapHealthChecks("/health/sandbox", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(SandboxHealthCheck.Name),
            ResponseWriter = (context, report) =>
            {
                var entry = report.Entries.Values.FirstOrDefault();
                return context.Response.WriteAsJsonAsync(new { status = report.Status.ToString(), description = entry.Description ?? "" });
            },
        });
        return app;
    }

    private static bool IsLoopbackUrl(string url) =>
        Uri.TryCreate(url.Replace("*", "wildcard").Replace("+", "wildcard"), UriKind.Absolute, out var uri)
        && (uri.IsLoopback || uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase));
}
