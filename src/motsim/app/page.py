"""The script Streamlit runs (`motsim app` serves it): the page itself is `motsim.app.main`."""

from motsim.app.main import main

main()
