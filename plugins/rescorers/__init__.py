"""Built-in rescorers: anti-LM, length bonus, MMI-bidi re-ranking, and three token bans."""
