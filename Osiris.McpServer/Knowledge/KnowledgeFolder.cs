using Microsoft.Extensions.Options;

namespace Osiris.McpServer.Knowledge;

/// <summary>Where the built-in collection's files are: <c>Knowledge:Folder</c>, else the repository's docs/, else the copy shipped beside the server.</summary>
public sealed class KnowledgeFolder(IOptions<KnowledgeOptions> options, IHostEnvironment environment)
{
    public string Path => options.Value.Folder is { Length: > 0 } folder
        ? System.IO.Path.GetFullPath(folder)
        : new[] { System.IO.Path.Combine(environment.ContentRootPath, "..", "docs"), System.IO.Path.Combine(AppContext.BaseDirectory, "docs") }
            .Select(System.IO.Path.GetFullPath).FirstOrDefault(Directory.Exists) ?? System.IO.Path.Combine(AppContext.BaseDirectory, "docs");
}
