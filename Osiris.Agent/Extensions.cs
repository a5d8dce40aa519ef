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
        builder.Services.AddHttpClient(BrainFactory.GeminiHttpClient);

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
