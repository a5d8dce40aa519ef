using Microsoft.Extensions.Http.Resilience;
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

        // No credential here: each call carries its own (OsirisApi's ApiCredential), a person's or the web's service key.
        void Configure(HttpClient http) => http.BaseAddress = new Uri(options.ApiBaseAddress);
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is experimental; it is the documented way to replace ConfigureHttpClientDefaults' handler.
        // REST calls: only safe methods (GET) are retried — a retried POST or PUT could repeat what it did (creates carry
        // an Idempotency-Key for the person's own retries); and a person waits at most 10 s for an answer.
        builder.Services.AddHttpClient(OsirisApi.ClientName, Configure).RemoveAllResilienceHandlers().AddStandardResilienceHandler(resilience =>
        {
            resilience.Retry.DisableForUnsafeHttpMethods();
            resilience.AttemptTimeout.Timeout = TimeSpan.FromSeconds(4);
            resilience.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(10);
            resilience.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(10);
        });
        // The stream lives for hours and must not be cut by the standard handler's total timeout or retried by it:
        // EventStreamService resumes by Last-Event-ID itself.
        builder.Services.AddHttpClient(OsirisApi.StreamClientName, http =>
        {
            Configure(http);
            http.DefaultRequestHeaders.Authorization = new("Bearer", options.ServiceKey); // the shared live view reads as the web
            http.Timeout = Timeout.InfiniteTimeSpan;
        }).RemoveAllResilienceHandlers();
        // Uploads stream from the browser as they are sent: a stream read once cannot be retried, and a 20 MB file over a
        // slow link takes longer than a REST call may.
        builder.Services.AddHttpClient(OsirisApi.UploadClientName, http =>
        {
            Configure(http);
            http.Timeout = TimeSpan.FromMinutes(10);
        }).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ServiceCredential>();
        builder.Services.AddScoped<PersonCredential>();
        // Components get the person's API (scoped: one per circuit); the shared live view gets the web's own.
        builder.Services.AddScoped(sp => new OsirisApi(sp.GetRequiredService<IHttpClientFactory>(), sp.GetRequiredService<PersonCredential>()));
        builder.Services.AddKeyedSingleton(OsirisApi.Service,
            (sp, _) => new OsirisApi(sp.GetRequiredService<IHttpClientFactory>(), sp.GetRequiredService<ServiceCredential>()));
        builder.Services.AddSingleton<LiveStore>();
        builder.Services.AddSingleton<BrainCatalogStore>();
        builder.Services.AddSingleton<LiveLoader>();
        builder.Services.AddHostedService<EventStreamService>();
        builder.AddOsirisAccess();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
    }
}
