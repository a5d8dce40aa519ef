using Osiris.Agent;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddAgentServices();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();

/// <summary>Visible to tests that host a worker in-process.</summary>
public partial class Program;
