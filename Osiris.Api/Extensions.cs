using Osiris.Api.Channels;
using Osiris.Api.Maintenance;
using Osiris.Api.Replies;
using Osiris.Api.Security;
using Osiris.Api.Streaming;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Knowledge;
using Osiris.Shared.Storage;

namespace Osiris.Api;

public static class Extensions
{
    public static IHostApplicationBuilder AddApiServices(this IHostApplicationBuilder builder)
    {
        builder.AddOsirisStorage();
        builder.AddOsirisEvents();
        builder.AddOsirisKnowledge();
        builder.Services.AddOptions<Knowledge.KnowledgeApiOptions>().BindConfiguration(Knowledge.KnowledgeApiOptions.Section)
            .Validate(o => o.MaxDocumentBytes > 0 && o.MaxFilesPerUpload > 0, "Osiris:Knowledge limits are positive.").ValidateOnStart();

        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            if (context.Exception is BadHttpRequestException bad)
            {
                context.ProblemDetails.Title = "Malformed request";
                context.ProblemDetails.Detail = bad.InnerException is System.Text.Json.JsonException json
                    ? $"{bad.Message} {json.Message}"
                    : bad.Message;
            }
        });
        builder.Services.AddExceptionHandler<DatabaseUnavailableHandler>();
        builder.Services.AddOpenApi();
        builder.Services.AddOsirisAuthentication();
        // Browser pages on other origins (a status wall, an intranet page with EventSource and stream tickets) are
        // allowed only when listed: Osiris:Cors:Origins, separated by ';'. None by default.
        var origins = (builder.Configuration["Osiris:Cors:Origins"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy =>
            policy.WithOrigins(origins).WithMethods("GET", "POST").WithHeaders("Authorization", "Content-Type", "Last-Event-ID")));

        builder.Services.AddOptions<StreamOptions>().BindConfiguration(StreamOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddStreamLimits();
        builder.Services.AddSingleton<Warmup.StartupWarmup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Warmup.StartupWarmup>());
        builder.Services.AddHealthChecks().AddCheck<Warmup.StartupWarmup>("warm-up");
        builder.Services.AddSingleton<EventHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EventHub>());

        builder.Services.AddOptions<BrainSettings>().BindConfiguration(BrainSettings.Section);
        builder.Services.AddOptions<ChannelOptions>().BindConfiguration(ChannelOptions.Section);
        builder.Services.AddOptions<ReplyOptions>().BindConfiguration(ReplyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // Our own retry loop records every attempt, so the standard resilience handler's hidden retries are removed.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt out.
        builder.Services.AddHttpClient<WhatsAppSender>(WhatsAppSender.HttpClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        builder.Services.AddScoped<EmailSender>();
        builder.Services.AddHttpClient(Status.StatusApi.McpClientName, http => http.BaseAddress = new Uri("http://mcpserver"));
        // A restore or fork is not sent twice by a hidden retry: the caller sees the MCP server's answer.
#pragma warning disable EXTEXP0001
        builder.Services.AddHttpClient<Tasks.CheckpointClient>((sp, http) => Tasks.CheckpointClient.Configure(http, sp.GetRequiredService<IConfiguration>()))
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        builder.Services.AddHostedService<ReplyDispatcher>();

        builder.Services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<RetentionService>();
        return builder;
    }
}
