namespace Osiris.Shared.Contracts;

/// <summary>One service's state as people should see it: <c>Healthy</c>, <c>Degraded</c> (with why), or <c>Unknown</c>.</summary>
public sealed record ComponentStatus(string Status, string Description);

/// <summary><c>GET /api/v1/status</c>: today, the MCP server's sandbox.</summary>
public sealed record SystemStatus(ComponentStatus Sandbox);
