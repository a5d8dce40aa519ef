using System.ClientModel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;
using Osiris.Agent.Brains.Gemini;
using Osiris.Shared.Contracts;

namespace Osiris.Agent.Brains;

/// <summary>
/// Builds one provider's <see cref="IChatClient"/>: the provider client, with OpenTelemetry (GenAI conventions) and
/// logging around it, so every call is traced and logged with its own provider and model. Clients are cached per
/// brain; the model is chosen per call through <see cref="ChatOptions.ModelId"/>.
/// </summary>
public sealed class BrainFactory(
    IOptions<BrainSettings> settings,
    IHttpClientFactory httpClients,
    ILoggerFactory loggers,
    IServiceProvider services)
{
    public const string GeminiHttpClient = "gemini";
    private readonly Dictionary<string, IChatClient> _clients = [];
    private readonly Lock _gate = new();

    public BrainSettings Settings => settings.Value;

    public IChatClient Get(string brain)
    {
        lock (_gate)
        {
            if (!_clients.TryGetValue(brain, out var client))
            {
                client = new ChatClientBuilder(CreateProvider(brain))
                    .UseOpenTelemetry(loggers, configure: otel => otel.EnableSensitiveData = false)
                    .UseLogging(loggers)
                    .Build(services);
                _clients[brain] = client;
            }
            return client;
        }
    }

    /// <summary>A replay task's brain (per task: it answers from that task's recorded run), traced and logged like the others.</summary>
    public IChatClient ForReplay(Loop.TaskRun run) =>
        new ChatClientBuilder(new ReplayChatClient(run))
            .UseOpenTelemetry(loggers, configure: otel => otel.EnableSensitiveData = false)
            .UseLogging(loggers)
            .Build(services);

    private IChatClient CreateProvider(string brain)
    {
        var provider = settings.Value.For(brain);
        switch (brain)
        {
            case BrainNames.OpenAI:
            case BrainNames.OpenAICompatible:
                // The loop retries (honouring Retry-After) and the router watches the stream with its own idle and turn
                // timeouts, so the SDK neither retries by itself nor cuts a long turn at its default 100 s.
                var options = new OpenAIClientOptions
                {
                    RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0),
                    NetworkTimeout = Timeout.InfiniteTimeSpan,
                };
                if (provider.Endpoint.Length > 0)
                {
                    options.Endpoint = new Uri(provider.Endpoint);
                }
                // Local OpenAI-compatible servers (Ollama, LM Studio) accept any key; the SDK needs a non-empty one.
                var key = provider.ApiKey.Length > 0 ? provider.ApiKey : "not-needed";
                return new OpenAI.Chat.ChatClient(provider.Model, new ApiKeyCredential(key), options).AsIChatClient();
            case BrainNames.Gemini:
                return new GeminiChatClient(httpClients.CreateClient(GeminiHttpClient), new GeminiChatClientOptions
                {
                    Endpoint = new Uri(provider.Endpoint.Length > 0 ? provider.Endpoint : "https://generativelanguage.googleapis.com/v1beta"),
                    ApiKey = provider.ApiKey,
                    Model = provider.Model,
                });
            default:
                return new OfflineChatClient();
        }
    }
}
