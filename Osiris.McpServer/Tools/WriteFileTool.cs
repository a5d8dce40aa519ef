using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Osiris.McpServer.Workspaces;

namespace Osiris.McpServer.Tools;

[McpServerToolType]
public sealed class WriteFileTool
{
    [McpServerTool(Name = "write_file", Title = "Create or overwrite a text file", Destructive = true, Idempotent = true, OpenWorld = false)]
    [Description("Creates a UTF-8 text file in the workspace, or replaces the whole content of an existing one; missing parent " +
                 "folders are created. Returns the new size in bytes and a unified diff of the change. Paths are relative to the workspace root; " +
                 "anything outside the workspace is refused. With dryRun, nothing is written: the diff shows what the write would change.")]
    public static CallToolResult WriteFile(
        Workspace workspace,
        WorkspaceFiles files,
        [Description("File path relative to the workspace root, e.g. 'notes/plan.md'.")] string path,
        [Description("The complete new content of the file.")] string content,
        [Description("Only show the diff the write would make; write nothing.")] bool dryRun = false)
    {
        try
        {
            var write = dryRun ? files.Preview(workspace.Root, path, content) : files.Write(workspace.Root, path, content);
            if (dryRun)
            {
                var preview = TextDiff.Unified(write.OldText ?? "", write.NewText, write.Path);
                return ToolResults.Success($"Would {(write.Created ? "create" : "update")} {write.Path} ({write.Size} bytes); nothing was written.\n{preview}",
                    new { path = write.Path, size = write.Size, created = write.Created, diff = preview, dryRun = true });
            }
            var diff = TextDiff.Unified(write.OldText ?? "", write.NewText, write.Path);
            var summary = $"{(write.Created ? "Created" : "Updated")} {write.Path} ({write.Size} bytes).";
            return ToolResults.Success($"{summary}\n{diff}", new { path = write.Path, size = write.Size, created = write.Created, diff });
        }
        catch (PathRefusedException e)
        {
            return ToolResults.Error(e.Message);
        }
    }
}
