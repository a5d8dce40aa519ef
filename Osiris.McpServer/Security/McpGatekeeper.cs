using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Osiris.McpServer.Security;

/// <summary>
/// Runs before every /mcp request: loopback callers only (unless allowed), Host and Origin must name this machine
/// (a web page whose DNS name was rebound to 127.0.0.1 gets 403), then the bearer token, then — for a session's
/// first request, and for every request of a sessionless (2026-07-28) client — a well-formed X-Osiris-Task header when
/// there is no fixed root.
/// </summary>
public sealed class McpGatekeeper(RequestDelegate next, IOptions<McpSecurityOptions> options, Workspaces.WorkspaceProvisioner workspaces)
{
    public const string TaskHeader = "X-Osiris-Task";
    private static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]", "::1"];

    public async Task InvokeAsync(HttpContext context)
    {
        var settings = options.Value;
        var remote = context.Connection.RemoteIpAddress;
        if ((settings.NoAuth || !settings.AllowRemote) && remote is not null && !IPAddress.IsLoopback(remote))
        {
            await Refuse(context, StatusCodes.Status403Forbidden, "This MCP server accepts local callers only.");
            return;
        }
        if (!IsAllowedHost(context.Request.Host.Host, settings))
        {
            await Refuse(context, StatusCodes.Status403Forbidden, "Forbidden: the Host header does not name this server (DNS rebinding guard).");
            return;
        }
        if (context.Request.Headers.Origin is { Count: > 0 } origin && !IsAllowedOrigin(origin.ToString(), settings))
        {
            await Refuse(context, StatusCodes.Status403Forbidden, "Forbidden: requests from this Origin are not allowed.");
            return;
        }
        if (!settings.NoAuth && !HasToken(context, settings.Token))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await Refuse(context, StatusCodes.Status401Unauthorized,
                settings.Token is { Length: > 0 } ? "A valid bearer token is required." : "Unauthorized: the server has no token configured (Osiris:McpToken).");
            return;
        }
        if (HttpMethods.IsPost(context.Request.Method) && !context.Request.Headers.ContainsKey("Mcp-Session-Id") && workspaces.FixedRoot is null
            && !Guid.TryParse(context.Request.Headers[TaskHeader].ToString(), out _))
        {
            await Refuse(context, StatusCodes.Status400BadRequest, $"Bad request: a new session needs the header {TaskHeader}: <task id (a GUID)>.");
            return;
        }
        await next(context);
    }

    private static bool IsAllowedHost(string host, McpSecurityOptions settings) =>
        LoopbackHosts.Contains(host, StringComparer.OrdinalIgnoreCase) || settings.AllowedHosts.Contains(host, StringComparer.OrdinalIgnoreCase);

    private static bool IsAllowedOrigin(string origin, McpSecurityOptions settings) =>
        settings.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase)
        || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            && LoopbackHosts.Contains(uri.Host, StringComparer.OrdinalIgnoreCase));

    private static bool HasToken(HttpContext context, string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }
        var header = context.Request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[prefix.Length..].Trim()), Encoding.UTF8.GetBytes(token));
    }

    private static Task Refuse(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsync(message);
    }
}
