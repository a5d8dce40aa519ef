using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Osiris.McpServer.Workspaces;

namespace Osiris.McpServer.Tools;

[McpServerToolType]
public sealed class ReadFileTool
{
    [McpServerTool(Name = "read_file", Title = "Read a text file", ReadOnly = true, Idempotent = true, Destructive = false, OpenWorld = false)]
    [Description("Reads a UTF-8 text file from the workspace and returns its content. Paths are relative to the workspace root " +
                 "(absolute paths must point inside it). Files over the size cap (256 KiB by default) must be read in parts with " +
                 "startLine/endLine (1-based, inclusive). Binary files, paths outside the workspace and symbolic links that point out are refused.")]
    public static CallToolResult ReadFile(
        Workspace workspace,
        WorkspaceFiles files,
        [Description("File path relative to the workspace root, e.g. 'src/app.py'.")] string path,
        [Description("Optional first line to return (1-based).")] int? startLine = null,
        [Description("Optional last line to return (1-based, inclusive).")] int? endLine = null)
    {
        try
        {
            var file = files.Read(workspace.Root, path, startLine, endLine);
            var header = startLine is null && endLine is null
                ? $"{file.Path} ({file.Size} bytes)"
                : $"{file.Path} lines {file.FirstLine}-{file.LastLine}{(file.HasMoreLines ? " (more lines follow)" : "")}";
            return ToolResults.Success($"{header}\n{file.Text}", file);
        }
        catch (PathRefusedException e)
        {
            return ToolResults.Error(e.Message);
        }
    }
}
