using Osiris.Shared.Contracts;

namespace Osiris.AppHost;

/// <summary>
/// Model providers (parameters listed in docs/infrastructure.md). All optional: with none set, tasks run on the offline brain. The agent receives
/// keys; the API only learns which providers are configured and their models, for <c>GET /api/v1/brains</c>.
/// </summary>
public static class BrainParameters
{
    private static readonly (string Provider, string Prefix, string DefaultModel)[] Providers =
    [
        ("OpenAI", "openai", BrainNames.OpenAIDefaultModel),
        ("Gemini", "gemini", BrainNames.GeminiDefaultModel),
        ("Compatible", "compatible", ""),
    ];

    public static (IResourceBuilder<ProjectResource> Api, IResourceBuilder<ProjectResource> Agent) WithBrainParameters(
        this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> api, IResourceBuilder<ProjectResource> agent)
    {
        foreach (var (provider, prefix, defaultModel) in Providers)
        {
            string Read(string name, string fallback = "") =>
                builder.Configuration[$"Parameters:{prefix}-{name}"] is { Length: > 0 } value ? value : fallback;

            var key = Read("api-key");
            var endpoint = Read("endpoint");
            var model = Read("model", defaultModel);
            var configured = key.Length > 0 || provider == "Compatible" && endpoint.Length > 0 && model.Length > 0;

            var keyParameter = builder.AddParameter($"{prefix}-api-key", key, secret: true);
            var endpointParameter = builder.AddParameter($"{prefix}-endpoint", endpoint);
            var modelParameter = builder.AddParameter($"{prefix}-model", model);

            agent.WithEnvironment($"Osiris__Brains__{provider}__ApiKey", keyParameter)
                .WithEnvironment($"Osiris__Brains__{provider}__Endpoint", endpointParameter)
                .WithEnvironment($"Osiris__Brains__{provider}__Model", modelParameter)
                .WithEnvironment($"Osiris__Brains__{provider}__Configured", configured ? "true" : "false");
            api.WithEnvironment($"Osiris__Brains__{provider}__Model", modelParameter)
                .WithEnvironment($"Osiris__Brains__{provider}__Configured", configured ? "true" : "false");
        }
        return (api, agent);
    }
}
