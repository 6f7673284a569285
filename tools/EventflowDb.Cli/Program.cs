using EventflowDb.Cli;

return await EfdbApp.RunAsync(args).ConfigureAwait(false);
