namespace Osiris.McpServer.Workspaces;

/// <summary>A path the workspace will not touch; the message says why and becomes the tool error.</summary>
public sealed class PathRefusedException(string reason) : Exception(reason);
