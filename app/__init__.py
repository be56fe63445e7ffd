"""The Procrustes Streamlit app: widgets → TrainConfig → core trainer → core figures."""
