using System.ClientModel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;

namespace Osiris.Shared.Knowledge;

public static class KnowledgeExtensions
{
    public const string GeminiHttpClient = "gemini-embeddings";

    /// <summary>
    /// Knowledge search over the OSIRIS database (needs <c>AddOsirisStorage</c>), with semantic search when
    /// <c>Knowledge:Embeddings</c> names a provider: an <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/> traced like the chat clients.
    /// </summary>
    public static IHostApplicationBuilder AddOsirisKnowledge(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EmbeddingOptions>().BindConfiguration(EmbeddingOptions.Section)
            .Validate(o => !o.Configured || EmbeddingOptions.Providers.Contains(o.Provider!.ToLowerInvariant()),
                $"Knowledge:Embeddings:Provider is one of {string.Join(", ", EmbeddingOptions.Providers)} or none.")
            .Validate(o => !o.Configured || !o.Provider!.Equals(EmbeddingOptions.Compatible, StringComparison.OrdinalIgnoreCase) || o.Endpoint is { Length: > 0 },
                "Knowledge:Embeddings:Endpoint is required for the compatible provider.")
            .ValidateOnStart();
        builder.Services.AddHttpClient(GeminiHttpClient);
        builder.Services.AddSingleton<VectorIndex>();
        builder.Services.AddScoped<KnowledgeSearch>();
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
            return new KnowledgeEmbeddings(options.Configured ? Create(sp, options) : null, options);
        });
        return builder;
    }

    private static IEmbeddingGenerator<string, Embedding<float>> Create(IServiceProvider services, EmbeddingOptions options)
    {
        IEmbeddingGenerator<string, Embedding<float>> generator;
        if (options.Provider!.Equals(EmbeddingOptions.Gemini, StringComparison.OrdinalIgnoreCase))
        {
            generator = new GeminiEmbeddingGenerator(
                services.GetRequiredService<IHttpClientFactory>().CreateClient(GeminiHttpClient),
                new Uri(options.Endpoint is { Length: > 0 } endpoint ? endpoint : "https://generativelanguage.googleapis.com/"),
                options.ApiKey ?? "", options.EffectiveModel, options.Dimensions);
        }
        else
        {
            // One retry: a search waits for the question's vector, and the indexer tries a failed batch again later anyway.
            var clientOptions = new OpenAIClientOptions { NetworkTimeout = TimeSpan.FromSeconds(60), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 1) };
            if (options.Endpoint is { Length: > 0 } endpoint)
            {
                clientOptions.Endpoint = new Uri(endpoint);
            }
            // Local OpenAI-compatible servers accept any key; the SDK needs a non-empty one.
            var key = options.ApiKey is { Length: > 0 } k ? k : "not-needed";
            generator = new OpenAIClient(new ApiKeyCredential(key), clientOptions).GetEmbeddingClient(options.EffectiveModel)
                .AsIEmbeddingGenerator(options.Dimensions);
        }
        return generator.AsBuilder()
            .UseOpenTelemetry(services.GetRequiredService<ILoggerFactory>(), configure: otel => otel.EnableSensitiveData = false)
            .Build(services);
    }
}

/// <summary>The configured embedding generator (null when none is) and what its vectors are called when stored.</summary>
public sealed record KnowledgeEmbeddings(IEmbeddingGenerator<string, Embedding<float>>? Generator, EmbeddingOptions Options)
{
    public string? Signature => Generator is null ? null : Options.Signature;
}
