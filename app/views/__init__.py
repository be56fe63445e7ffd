"""The app's pages, each a script that st.navigation runs: playground, compare, sweep, boundary."""
