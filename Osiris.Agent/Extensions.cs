using Osiris.Agent.Brains;
using Osiris.Agent.Intake;
using Osiris.Agent.Loop;
using Osiris.Agent.Tools;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Agent;

public static class Extensions
{
    public static IHostApplicationBuilder AddAgentServices(this IHostApplicationBuilder builder)
    {
        builder.AddOsirisStorage();
        builder.AddOsirisEvents();

        builder.Services.AddOptions<AgentOptions>().BindConfiguration(AgentOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<BrainSettings>().BindConfiguration(BrainSettings.Section);
        builder.Services.AddOptions<McpOptions>().BindConfiguration(McpOptions.Section);
        // Model streams are watched by the brain router (Agent:ModelIdleTimeoutSeconds, Agent:ModelTurnTimeoutSeconds) and
        // retried by the loop: the standard 10 s / 30 s resilience timeouts and HttpClient's 100 s would cut a model
        // that thinks long before its first chunk.
        // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt one client out of
        // ConfigureHttpClientDefaults' handler.
#pragma warning disable EXTEXP0001
        builder.Services.AddHttpClient(BrainFactory.GeminiHttpClient, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllResilienceHandlers();
        builder.Services.AddHttpClient(McpToolbox.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        builder.Services.AddSingleton<BrainFactory>();
        builder.Services.AddSingleton<McpToolbox>();
        builder.Services.AddSingleton<TaskLeases>();
        builder.Services.AddSingleton<TaskRunner>();
        builder.Services.AddSingleton<TaskSignals>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TaskSignals>());
        builder.Services.AddHostedService<TaskWorker>();
        return builder;
    }
}
