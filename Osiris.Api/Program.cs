using Osiris.Api;
using Osiris.Api.Audit;
using Osiris.Api.Brains;
using Osiris.Api.Knowledge;
using Osiris.Api.People;
using Osiris.Api.Replies;
using Osiris.Api.Status;
using Osiris.Api.Trust;
using Osiris.Api.Spend;
using Osiris.Api.Streaming;
using Osiris.Api.Tasks;
using Osiris.Api.Webhooks.Email;
using Osiris.Api.Webhooks.WhatsApp;
using Osiris.Shared.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApiServices();

var app = builder.Build();

await app.Services.MigrateOsirisDatabaseAsync();
await app.Services.EnsureFirstAdminAsync();

app.UseExceptionHandler(new ExceptionHandlerOptions
{
    // Unreadable bodies and parameters are the client's fault: 400, not 500.
    StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
});
app.UseStatusCodePages();
app.UseCors();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter(); // after authentication: stream limits count per identity

app.MapOpenApi().AllowAnonymous();
app.MapDefaultEndpoints();
app.MapTasksApi();
app.MapTaskControlApi();
app.MapTimeTravelApi();
app.MapBrainsApi();
app.MapSpendApi();
app.MapStreamApi();
app.MapStreamTickets();
app.MapAuthApi();
app.MapUsersApi();
app.MapTokensApi();
app.MapAuditApi();
app.MapTrustApi();
app.MapReplyReviewApi();
app.MapStatusApi();
app.MapKnowledgeApi();
app.MapWhatsAppWebhook();
app.MapEmailWebhook();

app.Run();

/// <summary>Visible to WebApplicationFactory in tests and benchmarks.</summary>
public partial class Program;
