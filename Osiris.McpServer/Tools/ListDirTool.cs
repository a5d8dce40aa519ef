using System.ComponentModel;
using System.Text;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Osiris.McpServer.Workspaces;

namespace Osiris.McpServer.Tools;

[McpServerToolType]
public sealed class ListDirTool
{
    [McpServerTool(Name = "list_dir", Title = "List a folder", ReadOnly = true, Idempotent = true, Destructive = false, OpenWorld = false)]
    [Description("Lists the entries of a workspace folder with their type (file, directory, symlink, special) and size in bytes. " +
                 "depth 1 lists the folder itself; larger depths (up to 10) include subfolders. Symbolic links are reported, never followed.")]
    public static CallToolResult ListDir(
        Workspace workspace,
        WorkspaceFiles files,
        [Description("Folder path relative to the workspace root; '.' (the default) is the root.")] string path = ".",
        [Description("How many levels to list: 1 (default) for the folder's own entries.")] int depth = 1)
    {
        try
        {
            var entries = files.List(workspace.Root, path, depth, out var truncated);
            var text = new StringBuilder();
            foreach (var entry in entries)
            {
                // Appended in place (no string per line): "dir/", "link -> target", "file  12 bytes", "name  (special)".
                text.Append(entry.Path);
                _ = entry.Type switch
                {
                    "directory" => text.Append("/\n"),
                    "symlink" => text.Append(" -> ").Append(entry.LinkTarget).Append('\n'),
                    "file" => text.Append("  ").Append(entry.Size).Append(" bytes\n"),
                    _ => text.Append("  (").Append(entry.Type).Append(")\n"),
                };
            }
            if (entries.Count == 0)
            {
                text.Append("(empty)\n");
            }
            if (truncated)
            {
                text.Append("(listing cut at the entry cap; list a subfolder or use a smaller depth)\n");
            }
            return ToolResults.Success(text.ToString(), new { entries, truncated });
        }
        catch (PathRefusedException e)
        {
            return ToolResults.Error(e.Message);
        }
    }
}
