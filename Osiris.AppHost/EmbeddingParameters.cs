namespace Osiris.AppHost;

/// <summary>
/// The embedding provider for semantic knowledge search (README › Knowledge): <c>embeddings-provider</c> (openai, gemini,
/// compatible; unset: words only), <c>embeddings-model</c>, <c>embeddings-endpoint</c>, <c>embeddings-api-key</c> (unset:
/// the key of the brain of the same provider). The API (its search) and the MCP server (indexing and search_knowledge) get them.
/// </summary>
public static class EmbeddingParameters
{
    public static IDistributedApplicationBuilder WithEmbeddingParameters(this IDistributedApplicationBuilder builder,
        params IResourceBuilder<ProjectResource>[] services)
    {
        string Read(string name) => builder.Configuration[$"Parameters:{name}"] ?? "";
        var provider = Read("embeddings-provider").ToLowerInvariant();
        var key = Read("embeddings-api-key") is { Length: > 0 } own ? own
            : provider is "openai" or "gemini" ? Read($"{provider}-api-key") : "";

        var providerParameter = builder.AddParameter("embeddings-provider", provider);
        var modelParameter = builder.AddParameter("embeddings-model", Read("embeddings-model"));
        var endpointParameter = builder.AddParameter("embeddings-endpoint", Read("embeddings-endpoint"));
        var keyParameter = builder.AddParameter("embeddings-api-key", key, secret: true);
        foreach (var service in services)
        {
            service.WithEnvironment("Knowledge__Embeddings__Provider", providerParameter)
                .WithEnvironment("Knowledge__Embeddings__Model", modelParameter)
                .WithEnvironment("Knowledge__Embeddings__Endpoint", endpointParameter)
                .WithEnvironment("Knowledge__Embeddings__ApiKey", keyParameter);
        }
        return builder;
    }
}
