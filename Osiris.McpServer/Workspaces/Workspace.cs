namespace Osiris.McpServer.Workspaces;

/// <summary>
/// The workspace root of the current MCP session (scoped per request). HTTP sessions set it from the
/// <c>X-Osiris-Task</c> header of their <c>initialize</c> request; stdio and <c>--root</c> use the fixed root.
/// </summary>
public sealed class Workspace(WorkspaceProvisioner provisioner)
{
    private string? _root;

    public string Root
    {
        get => _root ??= provisioner.FixedRoot
            ?? throw new PathRefusedException("This session has no workspace: start it with the X-Osiris-Task header or run the server with --root.");
        set => _root = value;
    }

    /// <summary>The task an HTTP session works for (from its <c>X-Osiris-Task</c> header); null with a fixed root.</summary>
    public Guid? TaskId { get; set; }
}
