namespace Osiris.McpServer.Security;

public sealed class McpSecurityOptions
{
    /// <summary>Bearer token every /mcp request must carry (<c>Osiris:McpToken</c>, fed by the AppHost secret <c>mcp-token</c>).</summary>
    public string? Token { get; set; }

    /// <summary><c>--no-auth</c>: no token, allowed only with a fixed root and loopback callers.</summary>
    public bool NoAuth { get; set; }

    /// <summary>Host names besides localhost, 127.0.0.1 and [::1] that requests may address (DNS-rebinding guard).</summary>
    public string[] AllowedHosts { get; set; } = [];

    /// <summary>Browser origins besides loopback ones that may call the endpoint.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Accept callers from other machines (off by default: the server serves the local agent).</summary>
    public bool AllowRemote { get; set; }
}
