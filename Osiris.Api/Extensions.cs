using Osiris.Api.Maintenance;
using Osiris.Api.Security;
using Osiris.Api.Stream;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api;

public static class Extensions
{
    public static IHostApplicationBuilder AddApiServices(this IHostApplicationBuilder builder)
    {
        builder.AddOsirisStorage();
        builder.AddOsirisEvents();

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
        builder.Services.AddOpenApi();
        builder.Services.AddApiKeyAuthentication();

        builder.Services.AddOptions<StreamOptions>().BindConfiguration(StreamOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<EventHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EventHub>());

        builder.Services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<RetentionService>();
        return builder;
    }
}
