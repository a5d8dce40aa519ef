using Osiris.Web.Access;
using Osiris.Web.Api;
using Osiris.Web.Live;

namespace Osiris.Web;

public static class Extensions
{
    public static void AddOsirisWebServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OsirisWebOptions>().BindConfiguration(OsirisWebOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(OsirisWebOptions.Section).Get<OsirisWebOptions>() ?? new();

        void Configure(HttpClient http)
        {
            http.BaseAddress = new Uri(options.ApiBaseAddress);
            http.DefaultRequestHeaders.Authorization = new("Bearer", options.ApiKey);
            // Named in the API's audit log; people have no accounts of their own yet.
            http.DefaultRequestHeaders.Add("X-Osiris-Actor", "web UI");
        }
        builder.Services.AddHttpClient(OsirisApi.ClientName, Configure);
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is experimental; the stream lives for hours and must not be cut by the standard handler's total timeout or retried by it: EventStreamService resumes by Last-Event-ID itself.
        builder.Services.AddHttpClient(OsirisApi.StreamClientName, http =>
        {
            Configure(http);
            http.Timeout = Timeout.InfiniteTimeSpan;
        }).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<OsirisApi>();
        builder.Services.AddSingleton<LiveStore>();
        builder.Services.AddSingleton<BrainCatalogStore>();
        builder.Services.AddSingleton<LiveLoader>();
        builder.Services.AddHostedService<EventStreamService>();
        builder.Services.AddOsirisAccess();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
    }
}
