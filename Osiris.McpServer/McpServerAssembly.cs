namespace Osiris.McpServer;

/// <summary>Names this assembly for WebApplicationFactory (the test project sees more than one Program).</summary>
public sealed class McpServerAssembly;
