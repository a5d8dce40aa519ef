using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Osiris.McpServer.Knowledge;

public sealed record KnowledgeHit(string Source, string Section, string Snippet, double Score);

/// <summary>
/// Full-text index of the knowledge folder in SQLite FTS5, ranked with its built-in BM25. The index lives in a
/// file, so it survives restarts; before each search it catches up with files added, changed or removed.
/// </summary>
public sealed partial class KnowledgeIndex(IOptions<KnowledgeOptions> options, IHostEnvironment environment, ILogger<KnowledgeIndex> logger)
{
    private static readonly string[] Extensions = [".md", ".markdown", ".txt"];
    private static readonly HashSet<string> StopWords =
        ["a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "how", "i", "in", "is", "it", "of", "on", "or", "the", "to", "what", "when", "where", "which", "who", "why", "with"];

    private readonly SemaphoreSlim _sync = new(1, 1);

    public string Folder => options.Value.Folder is { Length: > 0 } folder
        ? Path.GetFullPath(folder)
        : new[] { Path.Combine(environment.ContentRootPath, "..", "docs"), Path.Combine(AppContext.BaseDirectory, "docs") }
            .Select(Path.GetFullPath).FirstOrDefault(Directory.Exists) ?? Path.Combine(AppContext.BaseDirectory, "docs");

    public string IndexPath => options.Value.IndexPath is { Length: > 0 } path
        ? Path.GetFullPath(path)
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "osiris", "knowledge.db");

    public async Task<IReadOnlyList<KnowledgeHit>> SearchAsync(string query, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await SyncAsync(connection, cancellationToken);

        var terms = Words().Matches(query.ToLowerInvariant()).Select(m => m.Value).Where(w => !StopWords.Contains(w)).Distinct().ToList();
        if (terms.Count == 0)
        {
            return [];
        }
        var command = connection.CreateCommand();
        // Each word quoted (no FTS syntax from the caller), any of them may match; BM25 weighs rare words higher
        // and a hit in a heading five times a hit in the body.
        command.CommandText = """
            SELECT path, heading, snippet(chunks, 2, '**', '**', '…', 24), bm25(chunks, 0.0, 5.0, 1.0) AS rank
            FROM chunks WHERE chunks MATCH $query ORDER BY rank LIMIT $limit
            """;
        command.Parameters.AddWithValue("$query", string.Join(" OR ", terms.Select(t => $"\"{t}\"")));
        command.Parameters.AddWithValue("$limit", Math.Clamp(limit, 1, 50));
        var hits = new List<KnowledgeHit>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            hits.Add(new KnowledgeHit(reader.GetString(0), reader.GetString(1), reader.GetString(2), Math.Round(-reader.GetDouble(3), 4)));
        }
        return hits;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(IndexPath)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = IndexPath }.ToString());
        await connection.OpenAsync(cancellationToken);
        var create = connection.CreateCommand();
        create.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, modified INTEGER NOT NULL, size INTEGER NOT NULL);
            CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(path UNINDEXED, heading, body, tokenize = 'porter unicode61');
            """;
        await create.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private async Task SyncAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await _sync.WaitAsync(cancellationToken);
        try
        {
            var folder = Folder;
            var onDisk = Directory.Exists(folder)
                ? Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .Select(f => new FileInfo(f))
                    .ToDictionary(f => Path.GetRelativePath(folder, f.FullName).Replace('\\', '/'), f => f)
                : [];

            var known = new Dictionary<string, (long Modified, long Size)>();
            var select = connection.CreateCommand();
            select.CommandText = "SELECT path, modified, size FROM files";
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    known[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
                }
            }

            var removed = known.Keys.Where(k => !onDisk.ContainsKey(k)).ToList();
            var changed = onDisk.Where(f => !known.TryGetValue(f.Key, out var k) || k.Modified != f.Value.LastWriteTimeUtc.Ticks || k.Size != f.Value.Length).ToList();
            if (removed.Count == 0 && changed.Count == 0)
            {
                return;
            }

            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            foreach (var path in removed.Concat(changed.Select(c => c.Key)))
            {
                await ExecuteAsync(connection, "DELETE FROM chunks WHERE path = $p; DELETE FROM files WHERE path = $p", cancellationToken, ("$p", path));
            }
            foreach (var (path, file) in changed)
            {
                var text = await File.ReadAllTextAsync(file.FullName, cancellationToken);
                foreach (var (heading, body) in MarkdownSections.Split(file.Name, text))
                {
                    await ExecuteAsync(connection, "INSERT INTO chunks (path, heading, body) VALUES ($p, $h, $b)", cancellationToken, ("$p", path), ("$h", heading), ("$b", body));
                }
                await ExecuteAsync(connection, "INSERT INTO files (path, modified, size) VALUES ($p, $m, $s)", cancellationToken,
                    ("$p", path), ("$m", file.LastWriteTimeUtc.Ticks), ("$s", file.Length));
            }
            await transaction.CommitAsync(cancellationToken);
            logger.LogInformation("Knowledge index {Index}: {Changed} files (re)indexed, {Removed} removed from {Folder}", IndexPath, changed.Count, removed.Count, folder);
        }
        finally
        {
            _sync.Release();
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [GeneratedRegex(@"[\p{L}\p{N}_]+")]
    private static partial Regex Words();
}
