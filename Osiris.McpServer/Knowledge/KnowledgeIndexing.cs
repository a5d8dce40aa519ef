using Microsoft.Extensions.DependencyInjection.Extensions;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;

namespace Osiris.McpServer.Knowledge;

public static class KnowledgeIndexing
{
    /// <summary>
    /// The knowledge base with its indexer (not started: the server adds it as a hosted service; tests and the benchmark
    /// drive it themselves): storage, search, embeddings, the built-in docs folder.
    /// </summary>
    public static IHostApplicationBuilder AddKnowledgeIndexing(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<KnowledgeOptions>().BindConfiguration(KnowledgeOptions.Section);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<KnowledgeFolder>();
        builder.AddOsirisStorage();
        builder.AddOsirisKnowledge();
        builder.Services.AddSingleton<KnowledgeIndexer>();
        return builder;
    }
}
